// draw.mjs -- turning images (D floats in [-1, 1], HWC) into pixels. No DOM needed for the
// pure helpers, so the CLI writes its PNGs with the same code the page draws with.

// RGBA bytes of one S x S image, values clamped to [-1, 1] then mapped to 0..255.
// offset: where the image starts inside a larger array (a trajectory row, say).
function toRGBA(pixels, S, offset = 0, out = new Uint8ClampedArray(S * S * 4)) {
  for (let i = 0; i < S * S; i++) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[offset + i * 3 + c];
      out[i * 4 + c] = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
    }
    out[i * 4 + 3] = 255;
  }
  return out;
}

// Nearest-neighbour upscale of RGBA (w x h) by an integer factor.
export function upscale(rgba, w, h, factor) {
  const W = w * factor, H = h * factor, out = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const src = ((Math.floor(y / factor) * w) + Math.floor(x / factor)) * 4, dst = (y * W + x) * 4;
      out[dst] = rgba[src]; out[dst + 1] = rgba[src + 1]; out[dst + 2] = rgba[src + 2]; out[dst + 3] = rgba[src + 3];
    }
  }
  return out;
}

// Several S x S images side by side, with a gap of `gap` pixels, as one RGBA strip.
// images: list of [array, offset] pairs, or null for a place left empty.
export function strip(images, S, gap = 1) {
  return grid(images, S, images.length, gap);
}

// The same in rows of `columns` images, read left to right, then top to bottom (the CLI's
// trajectory: 101 frames in one row made a strip 6,000 px wide that no viewer shows whole).
export function grid(images, S, columns, gap = 1) {
  const rows = Math.ceil(images.length / columns);
  const W = Math.min(images.length, columns) * (S + gap) - gap, H = rows * (S + gap) - gap;
  const out = new Uint8ClampedArray(W * H * 4);
  images.forEach((image, k) => {
    if (!image) return;   // an empty place, transparent as the gaps
    const [array, offset] = image;
    const rgba = toRGBA(array, S, offset);
    const x0 = (k % columns) * (S + gap), y0 = Math.floor(k / columns) * (S + gap);
    for (let y = 0; y < S; y++) {
      out.set(rgba.subarray(y * S * 4, (y + 1) * S * 4), ((y0 + y) * W + x0) * 4);
    }
  });
  return { rgba: out, width: W, height: H };
}

// Draw an S x S image onto a canvas 2D context, scaled crisply to the canvas size.
export function drawImage(ctx, pixels, S, offset = 0) {
  const image = new ImageData(toRGBA(pixels, S, offset), S, S);
  const scratch = drawImage.scratch ??= new OffscreenCanvas(S, S);
  if (scratch.width !== S) { scratch.width = S; scratch.height = S; }
  scratch.getContext('2d').putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.drawImage(scratch, 0, 0, ctx.canvas.width, ctx.canvas.height);
}
