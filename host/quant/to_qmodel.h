// host/quant/to_qmodel.h — ratq_qnet (host/quant/qnet.h) -> integer model (host/qmodel/qmodel.h).
#ifndef RATQ_HOST_QUANT_EXPORT_H
#define RATQ_HOST_QUANT_EXPORT_H

#include "qmodel/qmodel.h"
#include "quant/qnet.h"

// Build *out (initialised here) from a quantized network: op i of the model = op i of q, with q's int8
// weights, int32 biases, real scales and the exact (m, s) of q's forward. Returns 0, or -1 after one error
// line (*out freed).
int ratq_qnet_to_qmodel(const ratq_qnet *q, ratq_qmodel *out);

#endif
