# The model: unit tests (config, parameter table, gradients against finite
# differences, skewed = naive attention inside the whole model, determinism,
# checkpoints and their damaged cases, arena use) and the comparison against
# PyTorch through the committed references in tests/ref/ (tools/torch_ref.py).
tg_test(model unit grad)
tg_test(model_ref ref)
# Live: regenerate the references with PyTorch (float64 and float32) into a
# temporary folder, check the committed ones are still what the script
# produces, and run the comparison on the fresh ones. Skipped without torch.
tg_script_test(model_ref_live ref sh ${CMAKE_CURRENT_SOURCE_DIR}/model_ref_live.sh
               $<TARGET_FILE:test_model_ref>)
# Regenerate the committed references:  cmake --build BUILD --target model_ref_regen
add_custom_target(model_ref_regen
  COMMAND $<TARGET_FILE:test_model_ref> --write-checkpoints ${CMAKE_BINARY_DIR}/model_ref_ckpt
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tools/torch_ref.py
          --checkpoints ${CMAKE_BINARY_DIR}/model_ref_ckpt --out ${CMAKE_SOURCE_DIR}/tests/ref
  DEPENDS test_model_ref
  COMMENT "Regenerating tests/ref/model_*.safetensors with PyTorch"
  VERBATIM)
# FC-attention (Museformer's bar attention, issue 18): the bar rule, the
# kernel against the dense masked reference and finite differences, the
# whole model against the dense reference and cached decoding.
tg_test(fcattn unit grad)
tg_script_test(cli_fcattn cli /bin/bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli_fcattn.sh)
# Mixed precision (issue 17): bf16 conversions, the bf16 products (oneDNN)
# and matvec (AVX512-BF16) against fp32 within bf16's bound, a training step
# and cached decoding of a bf16 model against the fp32 one, and the bf16
# copies following the master weights. Exit 77 without bf16 on the CPU.
tg_test(bf16 unit)
# Rollouts that read their prefix's keys and values in place against copies
# of them: the same logits, bit for bit.
tg_test(cache_share unit)
# The shared prefix read once for a group of rows (decode.c) against the
# row-by-row path over a copied prefix: the same logits, bit for bit.
tg_test(cache_group unit)
# bf16 keys and values in cached decoding (issue 17): the bf16 attention
# kernels against exact products and their plain loops (the same bits
# wherever the keys are cut), and a bf16 model's decoding (one token, chunks;
# relative, absolute, fc and the bundled model) against the fp32 forward
# within bf16's tolerance; half the cache's bytes. Exit 77 without bf16.
tg_test(cache_bf16 unit)
