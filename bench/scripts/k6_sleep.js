// k6: a VU that only sleeps (memory per VU).
import { sleep } from "k6";

export default function () {
  sleep(1);
}
