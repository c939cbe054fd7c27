# Tokenizer tests: test_tok (unit), and the same program counting exact round
# trips over ../shared/data/nottingham/full (label data; skipped without it),
# and remi-compact against remi on nottingham/full and jsb-chorales/midi
# (tok_remi_compact_data, label data; skipped without them);
# test_tok_raw (unit): the raw tokenizer of abstract ids.
tg_test(tok unit)
tg_test(tok_raw unit)
if("midi" IN_LIST TG_SUBSYSTEMS)
  target_compile_definitions(test_tok PRIVATE TG_TEST_WITH_MIDI)
  add_test(NAME tok_nottingham COMMAND test_tok nottingham)
  set_tests_properties(tok_nottingham PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
  add_test(NAME tok_remi_compact_data COMMAND test_tok remi-compact)
  set_tests_properties(tok_remi_compact_data PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()
# The seeds and findings of the token decoders' fuzz entry point (fuzz/fuzz_tok.c).
add_test(NAME fuzz_tok_replay COMMAND fuzz_tok_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus/tok)
set_tests_properties(fuzz_tok_replay PROPERTIES LABELS unit TIMEOUT 900)
# remi-tracks and its tasks (test_tok_tracks, unit); the same checks over
# Nottingham and the chorales (tok_tracks_data, label data; skipped without them).
tg_test(tok_tracks unit)
add_test(NAME tok_tracks_data COMMAND test_tok_tracks data)
set_tests_properties(tok_tracks_data PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
