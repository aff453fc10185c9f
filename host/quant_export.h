// quant_export.h — ratq_qnet (host/quant_net.h) -> integer model (host/qmodel.h).
#ifndef RATQ_HOST_QUANT_EXPORT_H
#define RATQ_HOST_QUANT_EXPORT_H

#include "qmodel.h"
#include "quant_net.h"

// Build *out (initialised here) from a quantized network: op i of the model = op i of q, with q's int8
// weights, int32 biases, real scales and the exact (m, s) of q's forward. Returns 0, or -1 after one error
// line (*out freed).
int ratq_qnet_to_qmodel(const ratq_qnet *q, ratq_qmodel *out);

#endif
