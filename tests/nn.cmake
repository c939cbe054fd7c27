# The nn kernels: the matrix-product wrapper against its plain twin, forward
# results on hand-computable inputs, and every backward pass against central
# finite differences.
tg_test(gemm unit)
tg_test(nn unit)
tg_test(nn_grad grad)
