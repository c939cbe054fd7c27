tg_test(render render)
