# Data-parallel training (src/dist/dist.c): the dist layer in one process,
# then tests/test_mpi.sh under mpirun for `pretrain` and `train` (1 process
# against 2 and 3 ranks, resume across rank counts, failing and killed
# ranks), label mpi (skipped without mpirun, numpy, or a build without MPI).
tg_test(dist unit)
tg_script_test(mpi mpi /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_mpi.sh $<TARGET_FILE:test_dist>)
