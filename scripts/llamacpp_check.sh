#!/usr/bin/env bash
# Checks that GGUF files lsalign writes open and run in llama.cpp, by greedy-decoding the same
# prompt with lsalign and with llama.cpp (through the prebuilt binaries of the npm package
# node-llama-cpp, CPU only), and printing both continuations.
#
#   scripts/llamacpp_check.sh [MODEL.gguf ...]     (from the project root; needs node and npm)
#
# Without arguments it checks stories260K converted by lsalign (and round-tripped through a
# Hugging Face directory, which permutes Q/K between RoPE layouts) and a small model trained from
# scratch by lsalign with its byte-level tokenizer.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/lsalign" ./cmd/lsalign
L="$work/lsalign"
(cd "$work" && npm install --silent --no-audit --no-fund node-llama-cpp@3 >/dev/null)
cat >"$work/run.mjs" <<'JS'
import {getLlama, LlamaCompletion} from "node-llama-cpp";
const [path, prompt, steps] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: path});
const ctx = await model.createContext({contextSize: 256});
const completion = new LlamaCompletion({contextSequence: ctx.getSequence()});
process.stdout.write(await completion.generateCompletion(prompt, {maxTokens: Number(steps), temperature: 0}) + "\n");
JS
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  S=../shared/models/stories260K
  "$L" convert "$S/stories260K.bin" "$work/s260.gguf" --tokenizer "$S/tok512.bin" >/dev/null
  "$L" convert "$work/s260.gguf" "$work/s260-hf" >/dev/null
  "$L" convert "$work/s260-hf" "$work/s260-from-hf.gguf" >/dev/null
  "$L" train --data builtin --steps 200 --ctx 64 --batch 8 --out "$work/trained" --export gguf >/dev/null
  models=("$work/s260.gguf" "$work/s260-from-hf.gguf" "$work/trained/model.gguf")
fi
for m in "${models[@]}"; do
  prompt="Once upon a time"
  case "$m" in *trained*) prompt="the pass key is" ;; esac
  echo "== $(basename "$(dirname "$m")")/$(basename "$m"), prompt \"$prompt\""
  echo "lsalign:   $("$L" generate --model "$m" --prompt "$prompt" --steps 40 --temperature 0 2>/dev/null | tail -1)"
  echo "llama.cpp: $prompt$(cd "$work" && node run.mjs "$m" "$prompt" 40 | tail -1)"
done
