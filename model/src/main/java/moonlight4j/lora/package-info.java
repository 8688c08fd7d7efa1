/**
 * LoRA adapters in PEFT's layout. {@link moonlight4j.lora.LoraConfig} ({@code adapter_config.json}),
 * {@link moonlight4j.lora.LoraTargets} ({@code all-linear} or module names), {@link moonlight4j.lora.LoraAdapters}
 * (init, save/load, merge {@code W + s·B·A}, and the adapters' gradients from the effective weight's gradient so a
 * full-fine-tuning backward trains them).
 */
package moonlight4j.lora;
