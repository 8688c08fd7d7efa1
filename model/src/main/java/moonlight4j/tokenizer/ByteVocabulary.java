package moonlight4j.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The byte-level vocabulary of the embedded default model: 256 ranks, rank {@code i} = the single byte {@code i}
 * (no merges, so every UTF-8 byte is one token), followed by Moonlight's 258 special ids laid out as in the released
 * vocabulary ({@link SpecialTokens#moonlightLayout}: {@code [BOS]} 256, {@code [EOS]} 257, {@code <|im_end|>} 258,
 * {@code <|im_user|>} 259, {@code <|im_assistant|>} 260, {@code <|im_system|>} 266, {@code <|im_middle|>} 273).
 * {@link Tokenizer#vocabSize()} = 514. It goes through the same {@link Tokenizer} code and file format as the real
 * vocabulary, so a model trained on it can be saved with its tokenizer and reloaded by {@link TiktokenLoader}.
 */
public final class ByteVocabulary {

    /** Number of byte ranks. */
    public static final int NUM_BYTES = 256;

    private ByteVocabulary() {}

    /** The byte-level tokenizer; BOS {@code [BOS]}, EOS {@code [EOS]}. */
    public static Tokenizer create() {
        byte[][] ranks = new byte[NUM_BYTES][];
        for (int i = 0; i < NUM_BYTES; i++) ranks[i] = new byte[] {(byte) i};
        return new Tokenizer(ranks, SpecialTokens.moonlightLayout(NUM_BYTES), SpecialTokens.BOS, SpecialTokens.EOS);
    }

    /** Writes {@code tiktoken.model} + {@code tokenizer_config.json} of {@link #create()} into {@code dir}. */
    public static void write(Path dir) throws IOException {
        TiktokenWriter.write(create(), dir);
    }
}
