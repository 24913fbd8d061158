// Charts drawn here as SVG or plain HTML (nothing fetched from elsewhere, so the UI works offline; no charting
// library: the UI ships no third-party code and has no build step): time series as lines, stacked areas, stacked
// columns or small multiples, horizontal bars, a heatmap and a span waterfall. Each chart marks its figure with
// `data-points` (how many values it drew) and `data-partial` (it draws a bucket that has not ended), and with
// nothing to draw says so instead of an empty frame. One concept per module under charts/.

import { barChart } from "./charts/bars.js";
import { heatmap } from "./charts/heatmap.js";
import { pivot } from "./charts/time.js";
import { smallMultiples, timeChart } from "./charts/timeseries.js";
import { waterfall } from "./charts/waterfall.js";

export { barChart, heatmap, pivot, smallMultiples, timeChart, waterfall };

// Model families in one order everywhere, so each keeps its colour on every page.
export const FAMILIES = ["opus", "sonnet", "haiku", "other"];
