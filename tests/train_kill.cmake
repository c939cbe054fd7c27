# Kill-safe checkpoints (src/train/ckpt.c): `pretrain` and `train` killed with
# SIGKILL at every point of a checkpoint's save and at random moments, resumed
# until done, and compared byte for byte with an uninterrupted run
# (tests/test_kill_resume.sh): 12 random kills per command (about a minute),
# and 50 in the slow variant.
tg_script_test(kill_resume cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_kill_resume.sh 12)
tg_script_test(kill_resume_50 "cli;slow" /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_kill_resume.sh 50)
