# The checkpoint file format: round trips and damaged files (test_safetensors, unit).
tg_test(safetensors unit)
# The seeds and findings of the safetensors reader's and model_load's fuzz
# entry point (fuzz/fuzz_safetensors.c).
add_test(NAME fuzz_safetensors_replay
         COMMAND fuzz_safetensors_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus/safetensors)
set_tests_properties(fuzz_safetensors_replay PROPERTIES LABELS unit TIMEOUT 900)
