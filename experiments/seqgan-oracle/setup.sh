# Sourced by the synthetic-oracle scripts (experiments/seqgan-oracle/run.sh,
# temperature.sh, experiments/gan/oracle_curve.sh): one seed's oracle, its
# training corpus and the MLE generator, each made only if missing.
#   oracle_setup DIR SEED SEQUENCES MLE_STEPS
# needs $bin (tunegan), $oracle (the oracle tool) and $threads. The oracle:
# vocabulary 5,000, sequences of 20 ids, as SeqGAN's; the generator has the
# oracle's shape (as SeqGAN's generator and oracle were the same LSTM), and
# a window of 21 holds BOS, 20 ids and EOS. The tools' own output goes to
# DIR/oracle.txt and DIR/mle.out.
oracle_setup() {
    local w=$1 seed=$2 n=$3 steps=$4
    mkdir -p "$w"
    echo "oracle_setup: seed $seed in $w (the MLE run's output: $w/mle.out)" >&2
    [ -f "$w/oracle.safetensors" ] || "$oracle" make --vocab 5000 --seed "$seed" -n 1000 \
        --threads "$threads" -o "$w/oracle.safetensors" >"$w/oracle.txt"
    [ -f "$w/train.corpus" ] || "$oracle" sample "$w/oracle.safetensors" -n "$n" --length 20 --seed "$seed" \
        --threads "$threads" -o "$w/train.corpus"
    [ -f "$w/mle/model.safetensors" ] || "$bin" pretrain --corpus "$w/train.corpus" --preset tiny \
        --d-model 32 --layers 2 --heads 2 --context 21 --batch 64 --steps "$steps" --warmup 100 \
        --lr 1e-3 --eval-every 500 --seed "$seed" --threads "$threads" -o "$w/mle" >"$w/mle.out" 2>&1
}
