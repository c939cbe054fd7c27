# tools/oracle (SeqGAN's synthetic oracle, experiments/seqgan-oracle): make,
# sample and nll on tiny sizes, checked against `tunegan data stats` (cli).
tg_script_test(oracle cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_oracle.sh $<TARGET_FILE:oracle>)
