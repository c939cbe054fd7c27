tg_script_test(cli_pretrain cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_pretrain.sh)
include(${CMAKE_CURRENT_SOURCE_DIR}/train_mpi.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/train_adv.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/train_kill.cmake)
# Bad input to the training and sampling commands: non-finite weights at
# load, a loss or gradient norm that turns non-finite, size flags of 0,
# --threads above the cores (test_cli_train_input.sh, cli).
tg_script_test(cli_train_input cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_train_input.sh)
# --precision auto|fp32|bf16 (issue 17) on pretrain and generate, and its errors.
tg_script_test(cli_precision cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_precision.sh)
