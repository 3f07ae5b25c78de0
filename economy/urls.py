from django.urls import path

from economy.api import BalanceView, EarnView, SpendView, TransactionsView

urlpatterns = [
    path("earn", EarnView.as_view(), name="earn"),
    path("spend", SpendView.as_view(), name="spend"),
    path("balance", BalanceView.as_view(), name="balance"),
    path("transactions", TransactionsView.as_view(), name="transactions"),
]
