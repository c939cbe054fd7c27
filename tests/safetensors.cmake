# The checkpoint file format: round trips and damaged files (test_safetensors, unit).
tg_test(safetensors unit)
