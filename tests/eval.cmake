# Evaluation (src/eval): test_eval (unit: BLEU by hand and against a plain
# transliteration of NLTK's algorithm, MusPy statistics on hand-built scores,
# Zipf fits and MSE, overlap and KDE, strided likelihood against a brute
# force and train_eval_nll, sets from folders and corpora, bar similarity and
# copies on hand-made scores); eval_nottingham (data: the bar-similarity
# profile and copy rate of Nottingham's splits against issue 18's figures,
# skipped without ../shared/data); BLEU against NLTK
# itself (ref: skipped without python3-nltk); the eval command on fixtures
# (cli). tools/ngram_samples.c, the unigram/bigram floors of
# experiments/eval-baselines, is built here too (build/ngram_samples).
add_executable(ngram_samples ${CMAKE_SOURCE_DIR}/tools/ngram_samples.c)
target_include_directories(ngram_samples PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(ngram_samples PRIVATE tunegan_lib)
if("midi" IN_LIST TG_SUBSYSTEMS)
  tg_test(eval unit)
  add_test(NAME eval_nottingham COMMAND test_eval nottingham)
  set_tests_properties(eval_nottingham PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
  if(TG_REF_PYTHON)
    tg_script_test(bleu_vs_nltk ref ${TG_REF_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_bleu_vs_nltk.py
                   $<TARGET_FILE:test_eval>)
  endif()
  tg_script_test(cli_eval cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_eval.sh
                 $<TARGET_FILE:ngram_samples>)
endif()
# Harmony (src/eval/harmony.c): test_harmony (unit: hand-made scores with
# known fits, parallels, crossings and ranges); harmony_data (data: issue
# 20's figures on Nottingham's and Bach's test sets, skipped without
# ../shared/data); harmony_vs_mido (ref: every count of those files computed
# again from mido's parse, skipped without python3-mido or the data).
if("midi" IN_LIST TG_SUBSYSTEMS)
  tg_test(harmony unit)
  add_test(NAME harmony_data COMMAND test_harmony data)
  set_tests_properties(harmony_data PROPERTIES LABELS "data" SKIP_RETURN_CODE 77 TIMEOUT 900)
  if(TG_REF_PYTHON)
    tg_script_test(harmony_vs_mido ref ${TG_REF_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_harmony_vs_mido.py
                   $<TARGET_FILE:test_harmony>)
  endif()
endif()
