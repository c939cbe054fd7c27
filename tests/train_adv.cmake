# Adversarial training (src/train/disc.c, reward.c, seqgan.c; src/sample/rollout.c):
# the policy-gradient gradient against finite differences, a toy reward,
# rollouts (fork, repeatability, --rollout-every), discriminators on a
# separable task, bit-exact resume (test_seqgan, unit); `tunegan train`,
# `score` and `generate --rerank` end to end on fixtures (cli).
tg_test(seqgan unit grad)
# returns.c: per-token and per-bar returns, the random control, baselines, PPO's
# clipped gradient against finite differences, the dense D's smoothed targets.
tg_test(returns unit grad)
tg_script_test(cli_train cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_train.sh)
# the dense reward's values of every prefix in one pass (adv_dense_values)
tg_test(dense_values unit)
