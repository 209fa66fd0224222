/** ClearML's TensorBoard binding naming (tag_splitter, clearml 2.1.12), as the capture check applies it. */
import { expect, test } from "bun:test";
import { captureName } from "./tensorboard-capture.ts";

test("a tag a/b is title a, series b; deeper tags join the head with _", () => {
  expect(captureName("train/loss", null)).toEqual({ title: "train", series: "loss" });
  expect(captureName("a/b/c", "Scalars")).toEqual({ title: "a_b", series: "c" });
});

test("a tag without / is title = series = tag, or title Scalars when grouped (Logger.tensorboard_auto_group_scalars)", () => {
  expect(captureName("loss", null)).toEqual({ title: "loss", series: "loss" });
  expect(captureName("loss", "Scalars")).toEqual({ title: "Scalars", series: "loss" });
  expect(captureName("/loss", null)).toEqual({ title: "/loss", series: "loss" });
});
