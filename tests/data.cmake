# Corpus tests: building, reading, splits, batches (test_corpus, unit), and the
# tokenize/detokenize/vocab/data commands on fixtures (test_cli_data.sh, cli).
if("midi" IN_LIST TG_SUBSYSTEMS)
  tg_test(corpus unit)
endif()
tg_script_test(cli_data cli sh ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_data.sh)
# Input that once passed as good or leaked: tokenize's error path, detokenize
# of incomplete sequences, what data build skips and why (cli).
tg_script_test(cli_data_input cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_data_input.sh)
# The seeds and findings of the corpus reader's fuzz entry point (fuzz/fuzz_corpus.c).
add_test(NAME fuzz_corpus_replay COMMAND fuzz_corpus_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus/corpus)
set_tests_properties(fuzz_corpus_replay PROPERTIES LABELS unit TIMEOUT 900)
