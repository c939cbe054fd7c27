tg_script_test(cli_pretrain cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_pretrain.sh)
include(${CMAKE_CURRENT_SOURCE_DIR}/train_mpi.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/train_adv.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/train_kill.cmake)
