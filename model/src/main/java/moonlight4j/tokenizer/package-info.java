/**
 * Moonlight's tokenizer (docs/tokenizer.md) and chat format (docs/tokenizer.md#chat-template), in reading order:
 * <ol>
 *   <li>{@link moonlight4j.tokenizer.MoonlightPattern} — the pre-tokenization regex;</li>
 *   <li>{@link moonlight4j.tokenizer.SpecialTokens} — the 258 special ids after the ranks and their names;</li>
 *   <li>{@link moonlight4j.tokenizer.EncodeWindows} — the encode wrapper's 400,000 / 25,000-character cuts;</li>
 *   <li>{@link moonlight4j.tokenizer.Tokenizer} — encode (special tokens, pattern, BPE), decode
 *       ({@link moonlight4j.tokenizer.Utf8}: U+FFFD as Python writes it);</li>
 *   <li>{@link moonlight4j.tokenizer.TiktokenLoader} / {@link moonlight4j.tokenizer.TokenizerConfig} /
 *       {@link moonlight4j.tokenizer.TiktokenWriter} — the model directory's {@code tiktoken.model} and
 *       {@code tokenizer_config.json};</li>
 *   <li>{@link moonlight4j.tokenizer.ByteVocabulary} — the 256-byte vocabulary of the embedded default model;</li>
 *   <li>{@link moonlight4j.tokenizer.ChatTemplate} / {@link moonlight4j.tokenizer.ChatMessage} — the chat format.</li>
 * </ol>
 * Verified against golden-data/tokenizer__cl100k_moonlight_pattern.jsonl (ids from the real tiktoken engine).
 */
package moonlight4j.tokenizer;
