# Tokenizer tests: test_tok (unit), and the same program counting exact round
# trips over ../shared/data/nottingham/full (label data; skipped without it).
tg_test(tok unit)
if("midi" IN_LIST TG_SUBSYSTEMS)
  target_compile_definitions(test_tok PRIVATE TG_TEST_WITH_MIDI)
  add_test(NAME tok_nottingham COMMAND test_tok nottingham)
  set_tests_properties(tok_nottingham PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()
