"""User licenses and the user types Salesforce derives from them.

Salesforce derives ``Profile.UserType`` from the profile's license and ``User.UserType`` from
the user's profile; neither can be written. The Object Reference (User.UserType): Standard covers
the Salesforce and Salesforce Platform licenses, CsnOnly the Chatter Free license (Chatter Free
and Chatter moderator users), and each partner and customer license has its own type.
"""

from __future__ import annotations

#: User license name -> the user type of every profile (and user) on it.
LICENSE_USER_TYPES = {
    "Salesforce": "Standard",
    "Salesforce Platform": "Standard",
    "Force.com - One App": "Standard",
    "Force.com - App Subscription": "Standard",
    "Knowledge Only User": "Standard",
    "Chatter Only": "Standard",
    "Salesforce Integration": "Standard",
    "Chatter Free": "CsnOnly",
    "Partner Community": "PowerPartner",
    "Partner Community Login": "PowerPartner",
    "Gold Partner": "PowerPartner",
    "Customer Community Plus": "PowerCustomerSuccess",
    "Customer Community Plus Login": "PowerCustomerSuccess",
    "Customer Portal Manager Custom": "PowerCustomerSuccess",
    "Customer Portal Manager Standard": "CustomerSuccess",
    "Customer Community": "CspLitePortal",
    "Customer Community Login": "CspLitePortal",
    "High Volume Customer Portal": "CspLitePortal",
    "Authenticated Website": "CspLitePortal",
    "External Identity": "CspLitePortal",
    "Guest User License": "Guest",
}
#: Internal user types: Salesforce lets a user move between them only upwards (Chatter Free to a
#: Salesforce license), and never between an internal and an external type.
INTERNAL_USER_TYPES = ("Standard", "CsnOnly")


def license_user_type(license_name: str) -> str:
    """The user type Salesforce gives profiles on the license ``license_name``.

    :raises ValueError: for a license the sandbox does not know (it never guesses a type).
    """
    try:
        return LICENSE_USER_TYPES[license_name]
    except KeyError:
        raise ValueError(f"the sandbox knows no user type for the license {license_name!r}") from None


def license_change_refusal(old: str | None, new: str | None) -> str | None:
    """Salesforce's message when a user may not move from user type ``old`` to ``new``, else None.

    Chatter Free users can be upgraded to a Salesforce license, never the reverse, and no user
    moves between an internal and an external license.
    """
    if old is None or new is None or old == new or (old, new) == ("CsnOnly", "Standard"):
        return None
    if (old, new) == ("Standard", "CsnOnly"):
        return "It is not permitted to change user type from Standard to CSN Only"
    if old in INTERNAL_USER_TYPES or new in INTERNAL_USER_TYPES:
        return "This change in license types is not allowed"
    return "You can only reassign this user to a profile of the current license."
