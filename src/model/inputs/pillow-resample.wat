;; Pillow 9.4's fixed-point two-pass resample (libImaging/Resample.c, ImagingResampleHorizontal_8bpc and
;; ImagingResampleVertical_8bpc) for packed 8-bit RGB, in WebAssembly SIMD. Compiled to pillow-resample.wasm by
;; scripts/build-wasm.mjs (wabt); pillow-resample-wasm.ts loads it. Same integer arithmetic as the C code and as the
;; TypeScript port in pillow-resize.ts: 32-bit accumulators starting at 1 << 21, products of a uint8 sample and an
;; Int32 coefficient with 22 fractional bits, then an arithmetic shift by 22 and a clip to 0..255. i32x4.mul wraps
;; like C int arithmetic, and the sums never come near 2^31 for normalised coefficients, so every byte matches.
;;
;; Memory is owned by the caller (pillow-resample-wasm.ts): it places the source, the coefficient tables and the
;; outputs, and keeps at least 16 bytes of slack after each buffer, because both passes read and write whole
;; vectors past the end of a pixel or row (4 bytes for 3, 16 bytes for the row tail); the extra lanes are garbage
;; that the next pixel or row overwrites, or that lands in the slack.
(module
  (memory (export "memory") 1)

  ;; Horizontal pass. `rows` rows of the source, starting at byte `src`, each `srcStride` bytes, into `rows` rows of
  ;; `newW` RGB pixels at `out` (stride newW * 3). `bounds` holds [xmin, count] (i32) per output pixel, `weights`
  ;; holds `ksize` i32 coefficients per output pixel.
  (func (export "horizontal")
    (param $src i32) (param $srcStride i32) (param $rows i32) (param $out i32) (param $newW i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $y i32) (local $xx i32) (local $rowIn i32) (local $o i32) (local $b i32)
    (local $p i32) (local $n i32) (local $wp i32) (local $acc v128) (local $kstep i32)
    (local.set $kstep (i32.shl (local.get $ksize) (i32.const 2)))
    (local.set $o (local.get $out))
    (local.set $rowIn (local.get $src))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $b (local.get $bounds))
        (local.set $wp (local.get $weights))
        (local.set $xx (i32.const 0))
        (block $pixDone
          (loop $pixLoop
            (br_if $pixDone (i32.ge_u (local.get $xx) (local.get $newW)))
            ;; p = rowIn + xmin * 3
            (local.set $p (i32.add (local.get $rowIn) (i32.mul (i32.load (local.get $b)) (i32.const 3))))
            (local.set $n (i32.load offset=4 (local.get $b)))
            (local.set $acc (v128.const i32x4 0x200000 0x200000 0x200000 0x200000))
            ;; two taps per iteration while at least two are left
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.lt_s (local.get $n) (i32.const 2)))
                (local.set $acc
                  (i32x4.add
                    (i32x4.add
                      (local.get $acc)
                      (i32x4.mul
                        (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p))))
                        (i32x4.splat (i32.load (local.get $wp)))))
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u
                        (i16x8.extend_low_i8x16_u (v128.load32_zero offset=3 (local.get $p))))
                      (i32x4.splat (i32.load offset=4 (local.get $wp))))))
                (local.set $p (i32.add (local.get $p) (i32.const 6)))
                (local.set $wp (i32.add (local.get $wp) (i32.const 8)))
                (local.set $n (i32.sub (local.get $n) (i32.const 2)))
                (br $tapLoop)))
            (if (i32.gt_s (local.get $n) (i32.const 0))
              (then
                (local.set $acc
                  (i32x4.add
                    (local.get $acc)
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p))))
                      (i32x4.splat (i32.load (local.get $wp))))))))
            ;; clip8: >> 22, then saturate to 0..255 through the two narrowing steps
            (local.set $acc (i32x4.shr_s (local.get $acc) (i32.const 22)))
            (local.set $acc (i16x8.narrow_i32x4_s (local.get $acc) (local.get $acc)))
            (local.set $acc (i8x16.narrow_i16x8_u (local.get $acc) (local.get $acc)))
            ;; 4 bytes written for 3: the 4th is overwritten by the next pixel (or lands in the slack)
            (v128.store32_lane 0 (local.get $o) (local.get $acc))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            ;; weights of the next output pixel: start of this pixel's ksize block + ksize
            (local.set $wp
              (i32.add (local.get $weights) (i32.mul (i32.add (local.get $xx) (i32.const 1)) (local.get $kstep))))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $pixLoop)))
        (local.set $rowIn (i32.add (local.get $rowIn) (local.get $srcStride)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop))))

  ;; Vertical pass. Source rows of `stride` bytes at `src` (row 0 = the first row the bounds refer to, after the
  ;; caller subtracted its row shift), into `newH` rows of `stride` bytes at `out`. 16 bytes (any channel) per step:
  ;; each byte column is an independent sum, so the layout of RGB does not matter here.
  (func (export "vertical")
    (param $src i32) (param $stride i32) (param $out i32) (param $newH i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $yy i32) (local $first i32) (local $n i32) (local $x i32) (local $p i32) (local $k i32)
    (local $wbase i32) (local $o i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $v v128) (local $lo v128) (local $hi v128) (local $w v128)
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $yy) (local.get $newH)))
        (local.set $first
          (i32.add (local.get $src)
            (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3))))
              (local.get $stride))))
        (local.set $n (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))))
        (local.set $wbase
          (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $yy) (local.get $ksize)) (i32.const 2))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $yy) (local.get $stride))))
        (local.set $x (i32.const 0))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_u (local.get $x) (local.get $stride)))
            (local.set $a0 (v128.const i32x4 0x200000 0x200000 0x200000 0x200000))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $first) (local.get $x)))
            (local.set $k (i32.const 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $w (i32x4.splat (i32.load (i32.add (local.get $wbase) (i32.shl (local.get $k) (i32.const 2))))))
                (local.set $v (v128.load (local.get $p)))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tapLoop)))
            (v128.store (local.get $o)
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a0) (i32.const 22))
                  (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a2) (i32.const 22))
                  (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $colLoop)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rowLoop))))
)
