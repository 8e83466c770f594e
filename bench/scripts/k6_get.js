// k6: one GET per iteration, no sleep, default system tags.
import http from "k6/http";

export default function () {
  http.get(__ENV.TARGET);
}
