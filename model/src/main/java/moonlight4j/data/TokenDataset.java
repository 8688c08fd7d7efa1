package moonlight4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A token stream cut into non-overlapping chunks of {@code seqLen} tokens, the remainder dropped — as toy_train
 * packs its corpus (docs/muon.md#training-loop-and-schedule: {@code len = floor(N / max_length)}). Each chunk is one
 * training row; labels are the row itself (the model shifts).
 */
public final class TokenDataset {

    private final String name;
    private final long[] tokens;
    private final int seqLen;

    public TokenDataset(String name, long[] tokens, int seqLen) {
        if (seqLen < 2) throw new IllegalArgumentException("sequence length must be ≥ 2, got " + seqLen);
        this.name = name;
        this.tokens = tokens;
        this.seqLen = seqLen;
        if (size() == 0) {
            throw new IllegalArgumentException("dataset " + name + " has " + tokens.length + " tokens, fewer than one "
                    + "chunk of " + seqLen);
        }
    }

    /** A UTF-8 text file as byte tokens; an error naming the file when it is missing or empty. */
    public static TokenDataset textFile(Path file, int seqLen) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException("--dataset " + file + " is a directory; expected a UTF-8 text file (or a "
                    + ".jsonl file of conversations)");
        }
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--dataset " + file + ": no such file");
        byte[] b = Files.readAllBytes(file);
        if (b.length == 0) throw new IllegalArgumentException("--dataset " + file + ": the file is empty");
        long[] ids = new long[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xff;
        return new TokenDataset(file.toString(), ids, seqLen);
    }

    /** Number of chunks. */
    public int size() {
        return tokens.length / seqLen;
    }

    public int seqLen() {
        return seqLen;
    }

    public String name() {
        return name;
    }

    public long tokenCount() {
        return tokens.length;
    }

    /** Chunk {@code i} ({@code seqLen} ids). */
    public long[] chunk(int i) {
        long[] c = new long[seqLen];
        System.arraycopy(tokens, i * seqLen, c, 0, seqLen);
        return c;
    }
}
