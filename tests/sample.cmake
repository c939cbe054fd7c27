# Generation (src/sample) and the tokenizers' grammar states: cached decoding
# against the full forward pass, the sliding window, the sampler, grammars
# against the encoders, repeatability, primers (test_sample, unit); the same
# program checking the grammars on ../shared/data/nottingham/full (data;
# skipped without it); and `tunegan generate` end to end (cli).
tg_test(sample unit)
if("midi" IN_LIST TG_SUBSYSTEMS)
  target_compile_definitions(test_sample PRIVATE TG_TEST_WITH_MIDI)
  add_test(NAME sample_nottingham COMMAND test_sample nottingham)
  set_tests_properties(sample_nottingham PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()
tg_script_test(cli_generate cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_generate.sh)
# The run object through the public header alone: open the bundled model,
# generate, continue a primer, errors (test_run, unit).
tg_test(run unit)
tg_script_test(cli_accompany cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_accompany.sh)
# Voice leading (src/sample/voicing.c): the rules harmony.c counts and
# fill.c keeps, on hand-made bars (test_voicing, unit); `tunegan accompany`
# on a test chorale with --voice-leading strict against harmony.c's count
# (cli; skipped without ../shared).
tg_test(voicing unit)
tg_script_test(cli_voicelead cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_voicelead.sh)
# Reranking any-track takes by the model itself (src/run/channel.c,
# `accompany|infill --rerank`): the take kept is the best-scored of the
# candidates rerank 1 draws, scored again here by a plain forward pass; given
# notes unchanged; bad values (test_channel, unit).
tg_test(channel unit)
