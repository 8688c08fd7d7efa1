/**
 * LoRA adapters in PEFT's layout, trained by the same backward passes and optimizers as full fine-tuning (the
 * adapter matrices are 2-D, so the release split sends them to Muon, docs/muon.md#parameter-split).
 *
 * <p>Reading order: {@link moonlight4j.lora.LoraConfig} ({@code adapter_config.json}) →
 * {@link moonlight4j.lora.LoraTargets} ({@code all-linear} or module names) → {@link moonlight4j.lora.LoraAdapters}
 * (init, save/load, merge {@code W + s·B·A}, and the adapters' gradients from the effective weight's gradient so a
 * full-fine-tuning backward trains them) → {@link moonlight4j.lora.LoraStep} (one training step over the effective
 * weights) → {@link moonlight4j.lora.LoraMerge} ({@code --merge-lora}: a plain HF model directory).
 */
package moonlight4j.lora;
