# The nn kernels: the matrix-product wrapper against its plain twin, forward
# results on hand-computable inputs, and every backward pass against central
# finite differences.
tg_test(gemm unit)
tg_test(nn unit)
tg_test(nn_grad grad)
# The fast paths against their references (issue 9): nn_expf_fast against
# expf, the vectorised GELU pair, nn_matmul shared out over 1-3 threads and
# its one-row (matrix-vector) path, nn_matmul_local, nn_matvec; the softmax
# and LayerNorm row kernels, AdamW's vector kernels, the column sums and the
# writing backward forms against their references.
tg_test(nn_fast unit)
