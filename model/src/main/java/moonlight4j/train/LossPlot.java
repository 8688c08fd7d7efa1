package moonlight4j.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Loss curves of one or more runs on one plot (tokens on x), saved as PNG with XChart. */
public final class LossPlot {

    /** One curve: its name and (tokens, loss) points. */
    public record Curve(String name, List<double[]> points) {
    }

    private LossPlot() {
    }

    public static void save(Path png, String title, List<Curve> curves) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle("tokens")
                .yAxisTitle("loss (nats / token)").build();
        chart.getStyler().setXAxisDecimalPattern("#,###");   // 204,800 rather than 2.048E5 (labels overlapped)
        for (Curve c : curves) {
            if (c.points().isEmpty()) continue;
            double[] x = new double[c.points().size()], y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = c.points().get(i)[0];
                y[i] = c.points().get(i)[1];
            }
            chart.addSeries(c.name(), x, y).setMarker(SeriesMarkers.NONE);
        }
        String file = png.toString();
        String base = file.endsWith(".png") ? file.substring(0, file.length() - 4) : file;
        BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
    }
}
