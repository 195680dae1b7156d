package ref

import "math"

// AttentionForward is causal grouped-query attention on the fused qkv
// [B,T,(NH+2*NKV)*HS]: for each sequence b, query head h (reading kv head
// h/(NH/NKV)) and position t, scores scale*q_t·k_s - m_h*(t-s) for s <= t
// (masked to -Inf for s > t), att[b,h,t,:] = softmax(scores) and
// out[b,t,h] = sum_s att[b,h,t,s] v_s. alibi is nil or NH slopes m_h.
func AttentionForward(out, att, qkv []float64, alibi []float64, B, T, NH, NKV, HS int, scale float64) {
	qkvW := (NH + 2*NKV) * HS
	group := NH / NKV
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			g := h / group
			for t := 0; t < T; t++ {
				q := qkv[(b*T+t)*qkvW+h*HS:][:HS]
				row := att[((b*NH+h)*T+t)*T:][:T]
				for s := 0; s < T; s++ {
					if s > t {
						row[s] = math.Inf(-1)
						continue
					}
					k := qkv[(b*T+s)*qkvW+(NH+g)*HS:][:HS]
					row[s] = scale * headDot(q, k)
					if alibi != nil {
						row[s] -= alibi[h] * float64(t-s)
					}
				}
				mx := math.Inf(-1)
				for _, x := range row {
					mx = math.Max(mx, x)
				}
				sum := 0.0
				for s := range row {
					row[s] = math.Exp(row[s] - mx) // exp(-Inf) = 0 masks s > t
					sum += row[s]
				}
				o := out[(b*T+t)*NH*HS+h*HS:][:HS]
				for i := range o {
					o[i] = 0
				}
				for s := range row {
					row[s] /= sum
					v := qkv[(b*T+s)*qkvW+(NH+NKV+g)*HS:][:HS]
					for i := range o {
						o[i] += row[s] * v[i]
					}
				}
			}
		}
	}
}

// AttentionBackward accumulates into dqkv the gradient of AttentionForward
// for dout, given the att it produced. The ALiBi bias is constant, so alibi
// only documents the call; it does not change the gradient.
func AttentionBackward(dqkv, dout, qkv, att []float64, alibi []float64, B, T, NH, NKV, HS int, scale float64) {
	if dqkv == nil {
		return
	}
	qkvW := (NH + 2*NKV) * HS
	group := NH / NKV
	dscore := make([]float64, T)
	for b := 0; b < B; b++ {
		for h := 0; h < NH; h++ {
			g := h / group
			for t := 0; t < T; t++ {
				row := att[((b*NH+h)*T+t)*T:][:T]
				do := dout[(b*T+t)*NH*HS+h*HS:][:HS]
				// d out / d att[s] = v_s; d out / d v_s = att[s].
				datt := make([]float64, T)
				for s := 0; s <= t; s++ {
					v := qkv[(b*T+s)*qkvW+(NH+NKV+g)*HS:][:HS]
					dv := dqkv[(b*T+s)*qkvW+(NH+NKV+g)*HS:][:HS]
					datt[s] = headDot(do, v)
					for i := range dv {
						dv[i] += row[s] * do[i]
					}
				}
				// Softmax Jacobian: d score_s = sum_r att_r (delta_rs - att_s) datt_r.
				for s := 0; s <= t; s++ {
					dscore[s] = 0
					for r := 0; r <= t; r++ {
						delta := 0.0
						if r == s {
							delta = 1
						}
						dscore[s] += datt[r] * row[r] * (delta - row[s])
					}
				}
				q := qkv[(b*T+t)*qkvW+h*HS:][:HS]
				dq := dqkv[(b*T+t)*qkvW+h*HS:][:HS]
				for s := 0; s <= t; s++ {
					k := qkv[(b*T+s)*qkvW+(NH+g)*HS:][:HS]
					dk := dqkv[(b*T+s)*qkvW+(NH+g)*HS:][:HS]
					for i := 0; i < HS; i++ {
						dq[i] += scale * dscore[s] * k[i]
						dk[i] += scale * dscore[s] * q[i]
					}
				}
			}
		}
	}
}

func headDot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
