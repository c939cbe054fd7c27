tg_test(io unit)
