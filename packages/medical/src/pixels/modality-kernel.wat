(module
  (memory (export "memory") 1)
  ;; dst[i] = lut[raw[i]] for i < n: raw u16 little-endian words, lut and dst f32
  (func (export "mapWords") (param $raw i32) (param $dst i32) (param $lut i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $raw) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (br_if $done (i32.ge_u (local.get $raw) (local.get $end)))
      (loop $next
        (f32.store (local.get $dst)
          (f32.load (i32.add (local.get $lut) (i32.shl (i32.load16_u (local.get $raw)) (i32.const 2)))))
        (local.set $raw (i32.add (local.get $raw) (i32.const 2)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br_if $next (i32.lt_u (local.get $raw) (local.get $end))))))
  ;; dst[i] = lut[(hi[i] << 8) | lo[i]] for i < n: two byte planes (RLE segments, most significant first)
  (func (export "mapPlanes") (param $hi i32) (param $lo i32) (param $dst i32) (param $lut i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $hi) (local.get $n)))
    (block $done
      (br_if $done (i32.ge_u (local.get $hi) (local.get $end)))
      (loop $next
        (f32.store (local.get $dst)
          (f32.load (i32.add (local.get $lut)
            (i32.shl (i32.or (i32.shl (i32.load8_u (local.get $hi)) (i32.const 8)) (i32.load8_u (local.get $lo))) (i32.const 2)))))
        (local.set $hi (i32.add (local.get $hi) (i32.const 1)))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br_if $next (i32.lt_u (local.get $hi) (local.get $end)))))))
