// Dot products of one weight row in a 256-element super-block type (GGUF's byte layout) with a
// Q8_K activation row: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and IQ4_XS. `n` is the row length.

/** Whether {@link dotK} has a kernel for GGML type `type`. */
export function kSupports(type: i32): bool {
  return false;
}

/** One row of super-block type `type` at `w` dotted with the Q8_K row at `a`. */
export function dotK(type: i32, w: usize, a: usize, n: i32): f32 {
  unreachable();
  return 0;
}
