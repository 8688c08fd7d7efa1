package moonlight4j.model;

import moonlight4j.api.Backend;
import moonlight4j.api.DType;
import moonlight4j.api.Tensor;
import moonlight4j.api.TensorScope;

import java.util.Arrays;

/**
 * The compressed key/value cache of multi-head latent attention (docs/model.md#compressed-cache): per layer and per
 * token it keeps only what K and V are made from —
 * <pre>
 *   latent  = kv_a_layernorm(c_kv)      (B, T, r)    r  = kv_lora_rank       (512 in Moonlight)
 *   ropeKey = RoPE(k_pe, position)      (B, T, dr)   dr = qk_rope_head_dim   (64), one head shared by all heads
 * </pre>
 * — not the per-head {@code K (B, H, T, dn+dr)} and {@code V (B, H, T, dv)} that HF's {@code DynamicCache} stores.
 * {@link CachedAttention} rebuilds {@code [k_nope | v] = kv_b_proj(latent)} from it at each step. Beside the tensors
 * the cache keeps, per row, which of its T slots are real tokens ({@code false} for left padding), so attention never
 * looks at a pad.
 *
 * <p>Per token and layer the cache holds {@code (r + dr)} values against {@code H·(dn + dr + dv)} for full K/V:
 * for moonlight-16b-a3b in bf16 that is 576·2 = 1,152 bytes against 16·320·2 = 10,240 bytes (×27 layers: 31,104 vs
 * 276,480 bytes per token), see {@link #bytesPerToken} and {@link #fullKvBytesPerToken}.
 */
public final class MlaCache implements AutoCloseable {

    private final Backend be;
    private final int batch, layers;
    private final Tensor[] latent;     // per layer (B, T, r)
    private final Tensor[] ropeKey;    // per layer (B, T, dr)
    private boolean[][] valid;         // (B, T) true where the slot holds a real token
    private int length;                // T, the number of cached positions (pads included)

    /** An empty cache for {@code batch} rows of a model with {@code layers} layers. */
    public MlaCache(Backend be, int batch, int layers) {
        this.be = be;
        this.batch = batch;
        this.layers = layers;
        this.latent = new Tensor[layers];
        this.ropeKey = new Tensor[layers];
        this.valid = new boolean[batch][0];
    }

    /** Cached positions T (the same for every row; left padding counts). */
    public int length() {
        return length;
    }

    public int batch() {
        return batch;
    }

    Backend backend() {
        return be;
    }

    /**
     * Records which of the next {@code n} slots of each row are real tokens; called once per model step, before the
     * layers append. {@code realNew[b][i]} for i in {@code [0, n)}.
     */
    void extend(boolean[][] realNew) {
        if (realNew.length != batch) {
            throw new IllegalArgumentException("cache: expected " + batch + " rows, got " + realNew.length);
        }
        int n = realNew[0].length;
        for (int b = 0; b < batch; b++) {
            boolean[] row = Arrays.copyOf(valid[b], length + n);
            System.arraycopy(realNew[b], 0, row, length, n);
            valid[b] = row;
        }
        length += n;
    }

    /** Whether slot {@code j} of row {@code b} holds a real token. */
    boolean isValid(int b, int j) {
        return valid[b][j];
    }

    /**
     * Appends this step's latent {@code (B, n, r)} and rotated rope key {@code (B, n, dr)} of {@code layer}; returns
     * the layer's whole cache {@code [latent (B, T, r), ropeKey (B, T, dr)]} after the append. The caller keeps
     * ownership of the arguments (they are copied).
     */
    Tensor[] append(int layer, Tensor latentNew, Tensor ropeKeyNew) {
        // the cache outlives the decoding step's scope: it owns its tensors (TensorScope.detach)
        if (latent[layer] == null) {
            latent[layer] = TensorScope.detach(be.copy(latentNew));
            ropeKey[layer] = TensorScope.detach(be.copy(ropeKeyNew));
        } else {
            Tensor l = TensorScope.detach(be.concat(1, latent[layer], latentNew));        // (B, T, r)
            Tensor k = TensorScope.detach(be.concat(1, ropeKey[layer], ropeKeyNew));      // (B, T, dr)
            latent[layer].close();
            ropeKey[layer].close();
            latent[layer] = l;
            ropeKey[layer] = k;
        }
        if (latent[layer].dim(1) != length) {
            throw new IllegalStateException("cache layer " + layer + " holds " + latent[layer].dim(1)
                    + " positions, expected " + length + " (extend() must precede the layers' appends)");
        }
        return new Tensor[]{latent[layer], ropeKey[layer]};
    }

    /** Bytes the cache holds now (all layers, all rows). */
    public long bytes() {
        long n = 0;
        for (int i = 0; i < layers; i++) {
            if (latent[i] != null) n += (latent[i].numel() + ropeKey[i].numel()) * latent[i].dtype().byteSize();
        }
        return n;
    }

    /** Compressed-cache bytes per token over all layers: {@code L · (r + dr) · sizeof(dtype)}. */
    public static long bytesPerToken(MoonlightConfig cfg, DType dtype) {
        return (long) cfg.numHiddenLayers() * (cfg.kvLoraRank() + cfg.qkRopeHeadDim()) * dtype.byteSize();
    }

    /**
     * What a full K/V cache (HF {@code DynamicCache}: K {@code (B, H, T, dn+dr)}, V {@code (B, H, T, dv)}) holds per
     * token: {@code L · H · (dn + dr + dv) · sizeof(dtype)}.
     */
    public static long fullKvBytesPerToken(MoonlightConfig cfg, DType dtype) {
        return (long) cfg.numHiddenLayers() * cfg.numAttentionHeads()
                * (cfg.qkNopeHeadDim() + cfg.qkRopeHeadDim() + cfg.vHeadDim()) * dtype.byteSize();
    }

    @Override
    public void close() {
        for (int i = 0; i < layers; i++) {
            if (latent[i] != null) latent[i].close();
            if (ropeKey[i] != null) ropeKey[i].close();
            latent[i] = ropeKey[i] = null;
        }
    }
}
