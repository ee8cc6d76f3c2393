// The overlay's opacity, in the page: an SVG filter (opacity.svg) on the colour layer scales its alphas
// below 255 (the colours, guide/render.py COLOUR_ALPHA = 254, and the "what changed" dimming) by the
// slider's value and keeps 255 (the crosshair) opaque; moving the slider rewrites the filter's table only.
window.gmOpacity = (a) => document.getElementById('gm-alpha-fn').setAttribute('tableValues', Array.from({length: 256}, (_, k) => k === 255 ? 1 : Math.min(1, a * k / 254)).join(' '));
