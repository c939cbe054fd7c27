# tunegan serve: the routes in process (tests/test_serve.c), the HTTP API with curl (tests/test_cli_serve.sh), the page in
# headless Chromium (tests/test_serve_browser.sh: skipped, saying why, without
# chromium or tests/browser/node_modules from tools/install-deps.sh --test), and
# a bounded load test (tests/serve_load.sh: 4 clients for 10 s here, 60 s in
# bench/serve_load.sh).
tg_test(serve unit)
tg_script_test(cli_serve cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_serve.sh)
tg_script_test(serve_browser "cli;browser" /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_serve_browser.sh)
tg_script_test(serve_load "cli;slow" /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/serve_load.sh 4 10)
