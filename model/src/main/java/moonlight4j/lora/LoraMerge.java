package moonlight4j.lora;

import moonlight4j.api.Backend;
import moonlight4j.model.MoonlightCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * {@code --merge-lora}: a base model directory plus a PEFT adapter → a plain HF model directory whose targeted weights
 * are {@code W + s·B·A} (rounded once to the base dtype), with the base directory's tokenizer and generation files
 * copied alongside, so it loads and generates like any other model.
 */
public final class LoraMerge {

    /** Files copied from the base model directory when present. */
    public static final List<String> SIDE_FILES = List.of("tiktoken.model", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");

    private LoraMerge() {
    }

    /** Writes the merged model to {@code out} (replacing it); returns the number of merged weights. */
    public static int write(Path baseDir, Path adapterDir, Path out, Backend be) throws IOException {
        MoonlightCheckpoint.Loaded base = MoonlightCheckpoint.load(baseDir, be);
        LoraAdapters lora = LoraAdapters.load(adapterDir, base.config(), be);
        MoonlightCheckpoint.save(out, base.config(), lora.merged(be, base.parameters()));
        for (String f : SIDE_FILES) {
            Path src = baseDir.resolve(f);
            if (Files.isRegularFile(src)) Files.copy(src, out.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        return lora.targets().size();
    }
}
