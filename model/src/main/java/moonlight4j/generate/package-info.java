/**
 * Text generation over the compressed MLA cache (docs/model.md#compressed-cache). Reading order:
 * {@link moonlight4j.generate.Sampler} (greedy / temperature / top-k / top-p, seeded) →
 * {@link moonlight4j.generate.GenerationConfig} → {@link moonlight4j.generate.Generator} (left-padded batch, prefill,
 * one-token steps, stop ids, streaming callback). The model side is {@link moonlight4j.model.MlaCache} (latent + rope
 * key per token), {@link moonlight4j.model.CachedModel} and {@link moonlight4j.model.MlaDecoding} (recompute or
 * absorb).
 */
package moonlight4j.generate;
