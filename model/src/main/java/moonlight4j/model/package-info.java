/**
 * The Moonlight-16B-A3B model (DeepSeek-V3 architecture as the HF remote code implements it, SPEC §4), forward
 * pass, written once against the {@link moonlight4j.api.Backend} SPI.
 *
 * <p>Reading order: {@link moonlight4j.model.MoonlightConfig} (config.json) → {@link moonlight4j.model.Parameters}
 * (weights by HF name) → {@link moonlight4j.model.RmsNorm} → {@link moonlight4j.model.Mlp} →
 * {@link moonlight4j.model.MoeGate} → {@link moonlight4j.model.Moe} → {@link moonlight4j.model.MlaAttention} →
 * {@link moonlight4j.model.DecoderLayer} → {@link moonlight4j.model.MoonlightModel}; around them
 * {@link moonlight4j.model.ModelShapes}, {@link moonlight4j.model.ParameterCounts}, {@link moonlight4j.model.ModelInit},
 * {@link moonlight4j.model.MoonlightCheckpoint}, {@link moonlight4j.model.Generation}.
 *
 * <p>Letters in shape comments: B batch, T time (sequence), C hidden, V vocab, H heads, N = B·T tokens, E routed
 * experts, k experts per token, I an MLP's inner width.
 *
 * <p>Each layer's {@code forward} records what its {@code backward} will need when asked to
 * ({@code keepForBackward}); the backward passes are a later issue and go next to each forward.
 */
package moonlight4j.model;
