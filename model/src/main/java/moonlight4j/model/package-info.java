/**
 * The Moonlight-16B-A3B model (the DeepSeek-V3 architecture as the HF remote code implements it, docs/model.md):
 * every layer's forward and backward, side by side, written once against the {@link moonlight4j.api.Backend} SPI.
 *
 * <p>Reading order: {@link moonlight4j.model.MoonlightConfig} (config.json) → {@link moonlight4j.model.Parameters}
 * (weights by HF name) → {@link moonlight4j.model.RmsNorm} → {@link moonlight4j.model.Mlp} →
 * {@link moonlight4j.model.MoeGate} → {@link moonlight4j.model.Moe} → {@link moonlight4j.model.MlaAttention} →
 * {@link moonlight4j.model.DecoderLayer} → {@link moonlight4j.model.MoonlightModel} →
 * {@link moonlight4j.model.CausalLmLoss}; for generation {@link moonlight4j.model.MlaCache} →
 * {@link moonlight4j.model.CachedAttention} → {@link moonlight4j.model.CachedModel}; around them
 * {@link moonlight4j.model.ModelShapes}, {@link moonlight4j.model.ParameterCounts},
 * {@link moonlight4j.model.ModelInit}, {@link moonlight4j.model.MoonlightCheckpoint}, and {@link moonlight4j.model.Generation} (greedy decoding by full
 * re-run, the plain reference for the cached generator).
 *
 * <p>Letters in shape comments: B batch, T time (sequence), C hidden, V vocab, H heads, N = B·T tokens, E routed
 * experts, k experts per token, I an MLP's inner width.
 *
 * <p>Each layer's {@code forward} records what its {@code backward} needs when training
 * ({@code keepForBackward}); the {@code backward} below it consumes that record in reverse order and accumulates
 * weight gradients into {@link moonlight4j.model.Grads} by HF name (docs/model.md#backward-passes).
 */
package moonlight4j.model;
