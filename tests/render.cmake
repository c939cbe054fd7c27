tg_test(render render)
# MusicXML: the writer on hand-made scores (tests/test_musicxml.c), and
# MuseScore 3 reading back what `tunegan export` writes of the Nottingham test
# split, generated pieces and fixtures (tests/test_musicxml_musescore.py;
# about a minute and a half: slow).
tg_test(musicxml render unit)
if(TG_REF_PYTHON)
  tg_script_test(musicxml_musescore "render;slow" ${TG_REF_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/test_musicxml_musescore.py)
endif()
# `tunegan export` end to end: output, options, errors (tests/test_cli_export.sh).
tg_script_test(cli_export cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_export.sh)
