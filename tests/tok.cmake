# Tokenizer tests: test_tok (unit), and the same program counting exact round
# trips over ../shared/data/nottingham/full (label data; skipped without it);
# test_tok_raw (unit): the raw tokenizer of abstract ids.
tg_test(tok unit)
tg_test(tok_raw unit)
if("midi" IN_LIST TG_SUBSYSTEMS)
  target_compile_definitions(test_tok PRIVATE TG_TEST_WITH_MIDI)
  add_test(NAME tok_nottingham COMMAND test_tok nottingham)
  set_tests_properties(tok_nottingham PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()
