/* status.c: messages and names of the status table in tunegan.h. */
#include "tunegan.h"

static const char *const status_msgs[] = {
#define TG_STATUS_MSG_(name, msg) msg,
    TG_STATUS_MAP(TG_STATUS_MSG_)
#undef TG_STATUS_MSG_
};

static const char *const status_names[] = {
#define TG_STATUS_NAME_(name, msg) #name,
    TG_STATUS_MAP(TG_STATUS_NAME_)
#undef TG_STATUS_NAME_
};

const char *tg_status_str(tg_status s)
{
    if ((int)s < 0 || s >= TG_STATUS_COUNT_) return "unknown status";
    return status_msgs[s];
}

const char *tg_status_name(tg_status s)
{
    if ((int)s < 0 || s >= TG_STATUS_COUNT_) return "UNKNOWN";
    return status_names[s];
}
