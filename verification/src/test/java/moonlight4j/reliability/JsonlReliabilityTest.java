package moonlight4j.reliability;

import moonlight4j.cli.CliRun;
import moonlight4j.data.ChatJsonl;
import moonlight4j.data.SftDataset;
import moonlight4j.data.SftExample;
import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static moonlight4j.reliability.TrainFixtures.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Malformed JSON Lines: each bad line is named (file, line, reason) or skipped with --skip-bad-lines. */
class JsonlReliabilityTest {

    @TempDir
    static Path tmp;
    static Path base;
    static List<String> good;

    @BeforeAll
    static void setUp() throws IOException {
        base = TrainFixtures.chatModel(tmp);
        good = Files.readAllLines(TrainFixtures.chat(tmp, 16));
    }

    /** {@code good} with line {@code lineNo} (1-based) replaced by {@code bad}. */
    private static Path withBadLine(String name, int lineNo, byte[] bad) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < good.size(); i++) {
            b.writeBytes(i == lineNo - 1 ? bad : good.get(i).getBytes(StandardCharsets.UTF_8));
            b.write('\n');
        }
        return Files.write(tmp.resolve(name), b.toByteArray());
    }

    @Test
    void invalidUtf8NamesFileLineAndByteAndIsSkippedWithSkipBadLines() throws IOException {
        byte[] bad = "{\"messages\": [{\"role\": \"user\", \"content\": \"1+1=\"}, {\"role\": \"assistant\", \"content\": \"2X\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        bad[bad.length - 5] = (byte) 0xFF;                                  // the X
        Path file = withBadLine("utf8.jsonl", 3, bad);
        String[] common = {"train", "--backend", "cpu", "--dataset", file.toString(), "--init", base.toString(),
                "--lr", "1e-3", "--batch", "8"};
        CliRun.Result r = run(concat(common, "--out", tmp.resolve("utf8").toString()));
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains(file + ":3: not valid UTF-8: byte 0xff at byte " + (bad.length - 4)
                + " of the line (expected UTF-8 text) (or pass --skip-bad-lines)");
        r = run(concat(common, "--out", tmp.resolve("utf8-skipped").toString(), "--skip-bad-lines"));
        assertThat(r.rc()).as(r.err()).isEqualTo(0);
        assertThat(r.out()).contains("1 bad lines skipped");
    }

    @Test
    void trailingTextOrASecondObjectOnALineIsRejectedWithFileAndLine() throws IOException {
        String line = good.get(1);
        Path trailing = withBadLine("trailing.jsonl", 2, (line + " xyz").getBytes(StandardCharsets.UTF_8));
        Path two = withBadLine("two.jsonl", 5, (line + " " + line).getBytes(StandardCharsets.UTF_8));
        Path dup = withBadLine("dup.jsonl", 7, ("{\"messages\": [], " + line.substring(1))
                .getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> ChatJsonl.read(trailing, false))
                .hasMessageContaining(trailing + ":2: ").hasMessageContaining("(expected exactly one JSON object per line)");
        assertThatThrownBy(() -> ChatJsonl.read(two, false))
                .hasMessageContaining(two + ":5: text after the JSON object at column " + (line.length() + 2));
        assertThatThrownBy(() -> ChatJsonl.read(dup, false))
                .hasMessageContaining(dup + ":7: not valid JSON (Duplicate field 'messages')");
        ChatJsonl.Read skipped = ChatJsonl.read(two, true);
        assertThat(skipped.skipped()).isEqualTo(1);
        assertThat(skipped.conversations()).hasSize(good.size() - 1);
        CliRun.Result r = run("train", "--backend", "cpu", "--dataset", trailing.toString(), "--init",
                base.toString(), "--out", tmp.resolve("trailing").toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains(trailing + ":2: text after the JSON object");
    }

    @Test
    void aDirectoryAsDatasetIsCalledOne() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("conversations.jsonl"));
        CliRun.Result r = run("train", "--backend", "cpu", "--dataset", dir.toString(), "--init", base.toString(),
                "--out", tmp.resolve("dir").toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains("dataset " + dir + " is a directory; expected a JSONL file");
    }

    /**
     * One line of 5,000 turns (the 380 KB case) loads with every reply labelled. Its cost is counted, not
     * timed, in SftExampleWorkTest; this replays the input end to end.
     */
    @Test
    void aFiveThousandTurnConversationIsLabelledWhole() throws IOException {
        StringBuilder line = new StringBuilder("{\"messages\": [");
        StringBuilder learned = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            String reply = String.valueOf(i % 97 + i % 89);
            line.append(i == 0 ? "" : ", ").append("{\"role\": \"user\", \"content\": \"What is ").append(i % 97)
                    .append('+').append(i % 89).append("?\"}, {\"role\": \"assistant\", \"content\": \"").append(reply)
                    .append("\"}");
            learned.append(reply).append("<|im_end|>");
        }
        Path file = Files.writeString(tmp.resolve("long.jsonl"), line.append("]}\n"));
        assertThat(Files.size(file)).isGreaterThan(380_000);
        assertThat(ChatTemplate.moonlight().render(ChatJsonl.parse(line.toString().trim()), false).length())
                .isGreaterThan(400_000);
        Tokenizer tok = ByteVocabulary.create();
        SftDataset d = SftDataset.load(file, tok, ChatTemplate.moonlight(), 1 << 22, 0, 1, false);
        assertThat(d.train()).hasSize(1);
        // the text (over 400,000 characters, so cut into encode windows) is learned exactly on the replies and
        // their end markers, whichever tokens the window cut left there
        int[] ids = d.train().get(0).inputIds(), labels = d.train().get(0).labels();
        int[] kept = java.util.stream.IntStream.range(0, ids.length).filter(i -> labels[i] != SftExample.IGNORE)
                .map(i -> ids[i]).toArray();
        assertThat(tok.decode(kept)).isEqualTo(learned.toString());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
