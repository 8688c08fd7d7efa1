package moonlight4j.api;

/**
 * The definitions of {@link Backend}'s fused optimizer updates and fused element-wise ops as sequences of its unfused
 * ops (each op rounding where it rounds): the default implementations, and the reference a backend's fused kernel must
 * reproduce.
 */
public final class FusedOps {

    private FusedOps() {
    }

    /** {@link Backend#scaleAxpyInPlace}: scaleInPlace, then axpyInPlace. */
    public static void scaleAxpy(Backend be, Tensor p, double s, double alpha, Tensor u) {
        be.scaleInPlace(p, s);
        be.axpyInPlace(p, alpha, u);
    }

    /** {@link Backend#momentumInPlace}: scaleInPlace, axpyInPlace, then (Nesterov) copyInto and axpyInPlace. */
    public static void momentum(Backend be, Tensor buf, Tensor g, double mu, Tensor nesterov) {
        be.scaleInPlace(buf, mu);
        be.axpyInPlace(buf, 1.0, g);
        if (nesterov != null) {
            be.copyInto(nesterov, g);
            be.axpyInPlace(nesterov, mu, buf);
        }
    }

    /** {@link Backend#adamUpdateInPlace} as the sequence of ops its Javadoc lists. */
    public static double adam(Backend be, Tensor p, Tensor g, Tensor m, Tensor v, AdamUpdate u) {
        be.scaleInPlace(p, u.decay());
        be.lerpInPlace(m, g, 1 - u.beta1());
        try (Tensor g2 = be.mul(g, g)) {
            if (u.lerpSecondMoment()) {
                be.lerpInPlace(v, g2, 1 - u.beta2());
            } else {
                be.scaleInPlace(v, u.beta2());
                be.axpyInPlace(v, 1 - u.beta2(), g2);
            }
        }
        try (Tensor sqrtV = be.sqrt(v);
             Tensor scaled = be.mulScalar(sqrtV, u.denomScale());
             Tensor denom = be.addScalar(scaled, u.eps());
             Tensor d = be.div(m, denom)) {
            be.axpyInPlace(p, -u.stepSize(), d);
            if (d.dtype() == DType.BF16) {
                try (Tensor wide = be.cast(d, DType.F32); Tensor ss = be.sumSquares(wide)) {
                    return be.item(ss);
                }
            }
            try (Tensor ss = be.sumSquares(d)) {
                return be.item(ss);
            }
        }
    }

    /** {@link Backend#scaleAdd}: mulScalar, then add; x and y of one shape and dtype. */
    public static Tensor scaleAdd(Backend be, Tensor x, double s, Tensor y) {
        checkOperands("scaleAdd", x, y);
        try (Tensor sx = be.mulScalar(x, s)) {
            return be.add(sx, y);
        }
    }

    /** {@link Backend#swiglu}: silu, then mul. */
    public static Tensor swiglu(Backend be, Tensor g, Tensor u) {
        checkOperands("swiglu", g, u);
        try (Tensor a = be.silu(g)) {
            return be.mul(a, u);
        }
    }

    /** {@link Backend#swigluBackward}: silu, mul, mul, siluBackward. */
    public static SwiGluGrads swigluBackward(Backend be, Tensor g, Tensor u, Tensor dh) {
        checkOperands("swigluBackward", g, u);
        checkOperands("swigluBackward", g, dh);
        try (Tensor a = be.silu(g); Tensor da = be.mul(dh, u)) {
            Tensor du = be.mul(dh, a);
            return new SwiGluGrads(be.siluBackward(g, da), du);
        }
    }

    /** The operands of a fused element-wise op: floating, of one dtype and one shape. */
    public static void checkOperands(String op, Tensor a, Tensor b) {
        Shapes.checkFloating(op, a);
        Shapes.checkSameDtype(op, a, b);
        Shapes.checkSameShape(op, a, b);
    }
}
