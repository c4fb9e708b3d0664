/* SPDX-License-Identifier: MIT
 * web/sfn.h: the AWS Step Functions API (AWS JSON 1.0, `POST /` with
 * `X-Amz-Target: AWSStepFunctions.<Operation>`) beside the REST API. See web/sfn.c.
 * Thread: a request's connection thread, as every handler of web/. */
#ifndef WR_WEB_SFN_H
#define WR_WEB_SFN_H

#include <stdbool.h>

#include "web/web_int.h"

/** True when `req` is a Step Functions call (POST / with an AWSStepFunctions target). */
bool wr__web_is_sfn(wr_web_req_t *req);
/** Answers a Step Functions call: auth, body, the operation; always leaves a response. */
void wr__web_sfn(wr_web_req_t *req);

#endif
