# MIDI reader and writer (src/midi): the unit test on the fixtures of
# tests/data (and the Nottingham round trip when ../shared/data is present),
# the comparison of `tunegan notes` with mido (label ref), and a replay of
# the fuzz corpus (fuzz/corpus/midi: the 855 inputs that keep all the coverage
# of 65 minutes of libFuzzer seeded from tests/data, merged with -merge=1) and
# the fixtures through the fuzz entry point (under the sanitizers in the ASan
# build).
tg_test(midi unit)
if(TG_REF_PYTHON)
  tg_script_test(notes_vs_mido ref ${TG_REF_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_notes_vs_mido.py)
endif()
add_test(NAME fuzz_midi_replay
         COMMAND fuzz_midi_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus/midi ${TG_TEST_DATA})
set_tests_properties(fuzz_midi_replay PROPERTIES LABELS unit TIMEOUT 900)
